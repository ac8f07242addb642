-- The history is pruned by age (`[signin] history_days`): the delete
-- finds the old rows through this index instead of reading the table.
CREATE INDEX signins_by_time ON signins (at)
