-- Search folds accents on PostgreSQL as SQLite's FTS5 (`unicode61 remove_diacritics 2`)
-- does: "uber" finds "Über", "cafe" finds "café". `unaccent` is an extension that needs a
-- superuser to install; this is the same folding for the Latin letters that decompose into
-- a base letter and marks (those FTS5 folds). Letters that do not decompose (ø, ł, đ, ß)
-- stay as they are, as in FTS5. Applied to the lowercased body and to the query.
CREATE FUNCTION fold_accents(input TEXT) RETURNS TEXT
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT translate(input,
        'àáâãäåāăąǎçćĉċčďèéêëēĕėęěĝğġģȟĥìíîïĩīĭįǐĵǰķĺļľñńņňòóôõöōŏőǒŕŗřśŝşšșţťțùúûüũūŭůűųǔǖǘǚǜŵẁẃẅýÿŷỳźżž',
        'aaaaaaaaaacccccdeeeeeeeeegggghhiiiiiiiiijjklllnnnnooooooooorrrssssstttuuuuuuuuuuuuuuuwwwwyyyyzzz') $$;

ALTER TABLE search_index DROP COLUMN words;
ALTER TABLE search_index ADD COLUMN words tsvector GENERATED ALWAYS AS
    (to_tsvector('simple', regexp_replace(fold_accents(lower(body)), '[^[:alnum:]]+', ' ', 'g'))) STORED;
CREATE INDEX search_index_words ON search_index USING GIN (words);
