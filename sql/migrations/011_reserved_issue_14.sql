-- A placeholder for issue 14's migration 011 (tern needs the numbers without
-- a gap): replaced by it when that lands.
SELECT 1;

---- create above / drop below ----

SELECT 1;
