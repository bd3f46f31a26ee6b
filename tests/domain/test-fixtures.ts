/** A raw reading as the BDG2 replay publishes it, shared by the tests of its schema and its validation. */
export const rawReading = {
  schema_version: 1,
  meter_id: 'Panther_office_Karla:electricity',
  building_id: 'Panther_office_Karla',
  site_id: 'Panther',
  meter_type: 'electricity',
  time: '2017-03-12T07:00:00Z',
  value: 46.2089,
  unit: 'kWh',
  source: 'bdg2:cleaned',
  local_time: '2017-03-12 03:00:00',
};
