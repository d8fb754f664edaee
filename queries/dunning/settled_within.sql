-- Dunning effectiveness (dunning.md KPI): of each item named in an issued letter, how much was settled
-- within $days days of the letter: its open amount named in the letter minus what was still open at
-- the end of day (letter date + $days), between 0 and the amount named.
-- Grain: one row per given (invoice id, letter date). Parameters: $invoice_ids, $letter_dates, $named
-- (parallel lists), $days.
with named as (
    select unnest($invoice_ids) as invoice_id, unnest($letter_dates)::date as letter_date, unnest($named)::double as named
),
docs as (
    select n.invoice_id, n.letter_date, n.named, i.doc_key, n.letter_date + $days::integer as window_end
    from named n
    left join invoices i using (invoice_id)
)
select d.invoice_id, d.letter_date, d.named,
       least(greatest(d.named - coalesce((select sum(o.open_amount) from open_intervals o
                                          where o.doc_key = d.doc_key and open_at(o.start_date, o.end_date, d.window_end)), 0), 0), d.named) as settled
from docs d
