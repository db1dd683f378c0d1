-- tags-only-5
SELECT person_id FROM (SELECT DISTINCT person_id FROM source_records FINAL WHERE workspace_id = {ws:String} AND person_id > 0) AS everyone
WHERE (person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p0:String} AND run_id = {p1:String} AND v_string IN {p2:Array(String)})
  AND person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p3:String} AND run_id = {p4:String} AND v_string = {p5:String})
  AND person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p6:String} AND run_id = {p7:String} AND v_number >= {p8:Float64})
  AND person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p9:String} AND run_id = {p10:String} AND v_bool = {p11:UInt8})
  AND person_id IN (SELECT person_id FROM tag_values WHERE workspace_id = {ws:String} AND tag = {p12:String} AND run_id = {p13:String} AND hasAny(v_list, {p14:Array(String)})))
-- params: {"ws":"ws_golden","tz":"Asia/Shanghai","today":"2026-06-30","base":"2026-06-30","p0":"lifecycle_stage","p1":"tag_run_lifecycle","p2":["衰退","沉睡"],"p3":"rfm_group","p4":"tag_run_rfm","p5":"重要挽留客户","p6":"clv_1y","p7":"tag_run_clv","p8":500,"p9":"wecom_added","p10":"tag_run_wecom","p11":1,"p12":"top3_categories","p13":"tag_run_top3","p14":["鲜炖燕窝"]}
