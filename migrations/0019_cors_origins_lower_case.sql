-- CORS origins in lower case, as browsers send an Origin header.
--
-- The admin API kept an origin's letter case as given, so one configured as
-- HTTPS://Learn.Example never matched a browser's https://learn.example.
-- It now lower-cases them (lrs/http/admin.py, _origin); this does the same
-- for those stored before. (An array's text form lower-cased is the array
-- of its elements lower-cased: its quotes and commas have no case.)
UPDATE tenants
   SET cors_origins = lower(cors_origins::text)::text[]
 WHERE cors_origins::text <> lower(cors_origins::text);
