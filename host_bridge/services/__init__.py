"""Services, one per concern. Each public method is one unit of work: it opens a transaction
(`Context.db`), calls repositories and the pure policies, writes its audit row, commits — and
runs again after a PostgreSQL serialization failure (`unit_of_work`). No SQL here."""
