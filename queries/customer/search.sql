-- Customers whose id or name contains $text (lower case), an exact id first (the customer page's search).
-- Grain: one row per customer, at most $limit. Parameters: $text, $limit.
select customer_id, name, segment
from customers
where lower(customer_id) like '%' || $text || '%' or lower(coalesce(name, '')) like '%' || $text || '%'
order by (lower(customer_id) = $text) desc, customer_id
limit $limit
