import type { ResourceConfig } from './types'

// Managed records outside master data that the generic ResourcePage also shows.

/** 门诊患者库: `/api/oms/patients` (oms:patient:read / oms:patient:write). */
export const patientResource: ResourceConfig = {
  path: 'patients',
  module: 'oms',
  key: 'patient',
  itemName: 'res.patients.item',
  label: 'res.patients.label',
  description: 'res.patients.description',
  icon: 'User',
  fields: [
    { name: 'name', label: 'res.patients.f.name', type: 'text', required: true, maxLength: 50 },
    {
      name: 'sex',
      label: 'res.patients.f.sex',
      type: 'enum',
      hint: 'res.patients.hint.sex',
      options: [
        { value: 'male', label: 'res.patients.o.sex.male' },
        { value: 'female', label: 'res.patients.o.sex.female' },
      ],
    },
    {
      name: 'birth_date',
      label: 'res.patients.f.birthDate',
      type: 'date',
      hint: 'res.patients.hint.birthDate',
    },
    { name: 'id_card', label: 'res.patients.f.idCard', type: 'text', format: 'idcard', maxLength: 18 },
    { name: 'phone', label: 'res.patients.f.phone', type: 'text', format: 'phone', maxLength: 20 },
    { name: 'address', label: 'res.patients.f.address', type: 'text', maxLength: 200, wide: true },
  ],
  columns: [
    { field: 'name', sortable: true, width: 110 },
    { field: 'sex', width: 70 },
    { field: 'birth_date', sortable: true, width: 120 },
    { field: 'id_card', width: 190 },
    { field: 'phone', width: 140 },
    { field: 'address', minWidth: 180 },
    { field: 'updated_at', sortable: true, width: 150 },
  ],
  searchPlaceholder: 'res.patients.search',
}

export const otherResources: ResourceConfig[] = [patientResource]
