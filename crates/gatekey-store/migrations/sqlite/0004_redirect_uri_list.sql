-- Redirect URIs become a JSON array of strings instead of one text joined with line breaks:
-- a URI holding a line break could otherwise pass for two (issue 8). Each old line becomes one
-- element, in order; empty lines are dropped.
UPDATE applications SET redirect_uris = (
    WITH RECURSIVE lines (n, line, rest) AS (
        SELECT 0, '', applications.redirect_uris || char(10)
        UNION ALL
        SELECT n + 1,
               substr(rest, 1, instr(rest, char(10)) - 1),
               substr(rest, instr(rest, char(10)) + 1)
        FROM lines WHERE rest <> ''
    )
    SELECT json_group_array(line) FROM (SELECT line FROM lines WHERE n > 0 AND line <> '' ORDER BY n)
);
