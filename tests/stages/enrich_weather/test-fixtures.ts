/** Sample payloads shared by the stage's unit and integration tests. */
import type { ValidatedReading, WeatherObservation } from '../../../domain/messages.js';

export const reading: ValidatedReading = {
  schema_version: 1,
  meter_id: 'Panther_office_Karla:electricity',
  building_id: 'Panther_office_Karla',
  site_id: 'Panther',
  meter_type: 'electricity',
  time: '2017-03-12T07:00:00Z',
  value: 46.2,
  unit: 'kWh',
  original_value: 46.2,
  original_unit: 'kWh',
  is_estimated: false,
  quality_code: 'measured',
  source: 'bdg2:cleaned',
};

export const observation: WeatherObservation = {
  schema_version: 1,
  site_id: 'Panther',
  time: '2017-03-12T06:00:00Z',
  air_temperature: 21.1,
  cloud_coverage: null,
  dew_temperature: 15,
  precip_depth_1h: 0,
  precip_depth_6h: 2,
  sea_level_pressure: 1013.2,
  wind_direction: 90,
  wind_speed: 3.1,
  source: 'bdg2',
};
