-- Open-item intervals, built once per snapshot.
-- Grain: one row per document and span of days over which its open amount
-- (base currency) is constant and non-zero: [start_date, end_date).
-- open(i, T) (ledger-contract.md) = open_amount of the span with
-- start_date <= T < end_date, else 0. A document is open from its
-- invoice_date; each payment dated before its paid_date starts a new span
-- (a payment dated before the invoice date counts from the invoice date);
-- from paid_date on it is zero. Still-open items end on 9999-12-31.
-- Sorted by end_date so that a scan at any T skips the row groups of
-- items closed before T (most of a multi-year ledger).
-- Inputs (registered by the caller): invoices, payments, customers.
with paid_steps as (
    select p.invoice_id,
           greatest(p.payment_date, i.invoice_date) as step_date,
           sum(p.amount_base) as paid
    from payments p
    join invoices i using (invoice_id)
    where i.paid_date is null or greatest(p.payment_date, i.invoice_date) < i.paid_date
    group by all
),
steps as (
    select invoice_id, step_date, sum(paid) as paid
    from (
        select invoice_id, invoice_date as step_date, 0.0 as paid
        from invoices semi join paid_steps using (invoice_id)
        union all
        select invoice_id, step_date, paid from paid_steps
    )
    group by all
),
spans_with_payments as (
    select invoice_id,
           step_date as start_date,
           lead(step_date) over (partition by invoice_id order by step_date) as next_start,
           sum(paid) over (partition by invoice_id order by step_date rows between unbounded preceding and current row) as paid_to_date
    from steps
),
spans as (
    select i.doc_key, i.invoice_date as start_date,
           coalesce(i.paid_date, DATE '9999-12-31') as end_date,
           i.amount_base as open_amount
    from invoices i anti join paid_steps using (invoice_id)
    union all
    select i.doc_key, s.start_date,
           coalesce(s.next_start, i.paid_date, DATE '9999-12-31') as end_date,
           i.amount_base - s.paid_to_date as open_amount
    from spans_with_payments s join invoices i using (invoice_id)
)
select s.doc_key, i.customer_key, c.segment, c.region, i.currency, i.due_date, i.disputed,
       s.start_date, s.end_date, s.open_amount
from spans s
join invoices i using (doc_key)
join customers c using (customer_key)
where s.open_amount <> 0 and s.start_date < s.end_date
order by s.end_date, s.start_date
