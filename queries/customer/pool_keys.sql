-- What decides a customer's collector pool (dashboard/workbench/assignment.py): its segment and region
-- in the credit master. Grain: one row per customer; all customers, or only $customer_id when given.
-- Parameters: $customer_id (text, or null for every customer).
select customer_id, segment, region
from customers
where $customer_id::varchar is null or customer_id = $customer_id::varchar
order by customer_id
