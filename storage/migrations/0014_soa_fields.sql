-- 0014_soa_fields: the fields of a stored SOA record, parsed in one place. An SOA's RDATA is
-- stored as the crawler's text, "mname rname serial refresh retry expire minimum" (records /
-- answer_set_records.target); soa_serial_history split it again with split_part. The
-- answer-set tables keep their shape (the storage work reshapes them; typed columns there
-- would have to follow it), so the fields come from this function over the stored text, by
-- the rule of the C++ reader (SoaRecord::parse, common/soa_record.h): exactly seven
-- space-separated fields, the last five decimal numbers of at most 10 digits and at most
-- 2^32 - 1. Every field is NULL for any other text.
CREATE FUNCTION soa_fields(soa text, OUT mname text, OUT rname text, OUT serial bigint,
                           OUT refresh bigint, OUT retry bigint, OUT expire bigint,
                           OUT minimum bigint)
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  f text[] := string_to_array(soa, ' ');
BEGIN
  -- Step by step: SQL gives no order of evaluation, and a cast must only see digits.
  IF cardinality(f) <> 7
     OR array_to_string(f[3:7], ' ') !~ '^([0-9]{1,10} ){4}[0-9]{1,10}$' THEN
    RETURN;  -- every field NULL
  END IF;
  IF EXISTS (SELECT FROM unnest(f[3:7]) AS n WHERE n::bigint > 4294967295) THEN
    RETURN;
  END IF;
  mname := f[1];
  rname := f[2];
  serial := f[3];
  refresh := f[4];
  retry := f[5];
  expire := f[6];
  minimum := f[7];
END
$$;
COMMENT ON FUNCTION soa_fields(text) IS
  'The fields of a stored SOA record''s text (mname rname serial refresh retry expire '
  'minimum); all NULL when the text is not in that shape. E.g. (soa_fields(target)).serial.';

-- soa_serial_history reads its serial through soa_fields(). Only that expression changes:
-- the rest of the view belongs to the migration that last defined it (0009, or the storage
-- work's reshaping of the tables), so it is taken from the catalogue rather than written
-- again here, and a view that does not compute the serial as expected stops the migration.
DO $$
DECLARE
  definition text := pg_get_viewdef('soa_serial_history'::regclass);
  serial_start integer := strpos(definition, 'CASE');
  serial_end integer := strpos(definition, 'END AS serial');
BEGIN
  IF serial_start = 0 OR serial_end < serial_start
     OR strpos(substr(definition, serial_start, serial_end - serial_start),
               'split_part(r.target') = 0 THEN
    RAISE EXCEPTION 'migration 0014: soa_serial_history does not compute serial from '
                    'split_part(r.target, ...) as expected: %', definition;
  END IF;
  EXECUTE 'CREATE OR REPLACE VIEW soa_serial_history AS '
          || overlay(definition PLACING '(soa_fields(r.target)).serial'
                     FROM serial_start FOR serial_end + length('END') - serial_start);
END
$$;
