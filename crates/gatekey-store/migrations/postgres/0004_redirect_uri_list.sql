-- Redirect URIs become a JSON array of strings instead of one text joined with line breaks:
-- a URI holding a line break could otherwise pass for two (issue 8). Each old line becomes one
-- element, in order; empty lines are dropped.
UPDATE applications SET redirect_uris = COALESCE(
    (SELECT json_agg(line ORDER BY n)::text
     FROM unnest(string_to_array(applications.redirect_uris, E'\n')) WITH ORDINALITY AS lines (line, n)
     WHERE line <> ''),
    '[]'
);
