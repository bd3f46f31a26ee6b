-- The BDG2 catalog: sites, buildings and their meters (loaded by `eaio import --bdg2 DIR`).

-- BDG2 `primaryspaceusage`, every value of the full metadata.csv (domain/bdg2/metadata.ts maps the
-- text to these labels; an empty cell is NULL).
CREATE TYPE building_use_type AS ENUM (
  'education', 'office', 'lodging_residential', 'entertainment_public_assembly', 'public_services',
  'healthcare', 'other', 'parking', 'warehouse_storage', 'manufacturing_industrial', 'retail',
  'services', 'technology_science', 'food_sales_and_service', 'utility', 'religious_worship'
);

-- BDG2 `industry`.
CREATE TYPE industry_type AS ENUM ('education', 'government', 'healthcare', 'hospitality');

-- BDG2 meter files; canonical units in domain/meter-types.ts.
CREATE TYPE meter_type AS ENUM (
  'electricity', 'chilledwater', 'steam', 'hotwater', 'gas', 'water', 'irrigation', 'solar'
);

CREATE TABLE sites (
  site_id        text PRIMARY KEY,
  site_id_kaggle integer,
  timezone       text NOT NULL,                      -- IANA name as in BDG2, e.g. US/Eastern
  location       geometry(Point, 4326),              -- NULL where BDG2 withholds lat/lng
  updated_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE buildings (
  building_id           text PRIMARY KEY,            -- BDG2 id, e.g. Panther_office_Karla
  site_id               text NOT NULL REFERENCES sites (site_id),
  building_id_kaggle    integer,                     -- GEPIII / LEAD numeric id
  building_use_type     building_use_type,
  sub_primary_space_use text,
  industry_type         industry_type,
  sub_industry          text,
  floor_area_sqm        double precision CHECK (floor_area_sqm >= 0),
  floor_area_sqft       double precision CHECK (floor_area_sqft >= 0),
  year_built            smallint,
  date_opened           date,
  number_of_floors      smallint,
  occupants             integer,
  energy_star_score     smallint,
  eui                   double precision,
  site_eui              double precision,
  source_eui            double precision,
  heating_type          text,
  leed_level            text,
  rating                text,
  timezone              text NOT NULL,
  location              geometry(Point, 4326),
  updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX buildings_site_idx ON buildings (site_id);
CREATE INDEX buildings_location_idx ON buildings USING gist (location);

-- One meter per building and meter type (as in BDG2); the id is the text `${building_id}:${meter_type}`
-- so producers can compute it without the database (docs/messages.md).
CREATE TABLE energy_meters (
  meter_id    text PRIMARY KEY,
  building_id text NOT NULL REFERENCES buildings (building_id),
  meter_type  meter_type NOT NULL,
  unit        text NOT NULL CHECK (unit IN ('kWh', 'L')),
  updated_at  timestamptz NOT NULL DEFAULT now(),
  UNIQUE (building_id, meter_type),
  CHECK (meter_id = building_id || ':' || meter_type::text)
);
