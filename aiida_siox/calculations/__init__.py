"""CalcJobs we own and calcfunctions that transform data (thin AiiDA glue over ``analysis/``)."""
