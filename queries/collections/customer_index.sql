-- Every customer's id by its customer_key (the worklist maps the workbench's customer ids,
-- which the ledger assigns, to the snapshot's keys once per change of the workbench).
-- Grain: one row per customer. Parameters: none.
select customer_key, customer_id
from customers
order by customer_key
