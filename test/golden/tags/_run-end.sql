-- tags/_run-end

-- command
DROP TABLE IF EXISTS tag_run_purchases_<1>;

-- command
DROP TABLE IF EXISTS tag_run_lines_<2>;

-- command
DROP TABLE IF EXISTS tag_run_cycle_<3>_all;

-- command
INSERT INTO people_bitmaps (workspace_id, computed_at, people) SELECT 'ws_golden', now64(3), groupBitmapState(person_id) FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = 'ws_golden' AND person_id > 0);
-- params:
--   String 'ws_golden'
