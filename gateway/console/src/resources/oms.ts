import type { Localized, ResourceConfig } from './types'

// Managed records outside master data that the generic ResourceView also shows.
const L = (zh: string, en: string): Localized => ({ zh, en })

/** 门诊患者库: `/api/oms/patients` (oms:patient:read / oms:patient:write). */
export const patientResource: ResourceConfig = {
  path: 'patients',
  module: 'oms',
  key: 'patient',
  itemName: L('患者', 'patient'),
  label: L('患者库', 'Patients'),
  description: L(
    '门诊患者档案；填写身份证号时性别和出生日期按身份证号自动填写，须与之一致；无查看个人信息权限时身份证号与电话脱敏显示',
    'Outpatient patient records; with an ID card number the sex and birth date are taken from it and must agree. ID card and phone are masked for those not allowed to see personal data',
  ),
  icon: 'User',
  fields: [
    { name: 'name', label: L('姓名', 'Name'), type: 'text', required: true, maxLength: 50 },
    {
      name: 'sex',
      label: L('性别', 'Sex'),
      type: 'enum',
      hint: L('填写身份证号时可不填', 'May be left out when the ID card number is given'),
      options: [
        { value: 'male', label: L('男', 'Male') },
        { value: 'female', label: L('女', 'Female') },
      ],
    },
    {
      name: 'birth_date',
      label: L('出生日期', 'Birth date'),
      type: 'date',
      hint: L('填写身份证号时可不填', 'May be left out when the ID card number is given'),
    },
    { name: 'id_card', label: L('身份证号', 'ID card'), type: 'text', format: 'idcard', maxLength: 18 },
    { name: 'phone', label: L('电话', 'Phone'), type: 'text', format: 'phone', maxLength: 20 },
    { name: 'address', label: L('地址', 'Address'), type: 'text', maxLength: 200, wide: true },
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
  searchPlaceholder: L('搜索姓名、身份证号、电话', 'Search by name, ID card or phone'),
}

export const otherResources: ResourceConfig[] = [patientResource]
