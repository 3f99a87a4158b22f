select full_date, item as segment, * exclude (full_date, grain, item)
from gold_payments.agg_kpis_by_grain
where grain = 'segment'
