-- Customers whose id or name contains $text (lower case) as typed, an exact id first (the customer page's search).
-- contains(), not LIKE: a % or _ in what a user types is a character to find, not a wildcard.
-- Grain: one row per customer, at most $limit. Parameters: $text, $limit.
select customer_id, name, segment
from customers
where contains(lower(customer_id), $text) or contains(lower(coalesce(name, '')), $text)
order by (lower(customer_id) = $text) desc, customer_id
limit $limit
