"""Credit decisions (credit-decisions.md): limit proposals, requests and approvals, the effective limit,
the review queue, held orders. Every decision is stored with the data it was made on."""
