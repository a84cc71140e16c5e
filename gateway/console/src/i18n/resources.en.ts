// English texts of src/resources; the same keys as resources.zh-CN.ts (type-checked).
import type { resourcesZh } from './resources.zh-CN'

export const resourcesEn: typeof resourcesZh = {
  res: {
    common: {
      code: 'Code',
      name: 'Name',
      description: 'Description',
      phone: 'Phone',
      searchName: 'Search by name',
    },
    departments: {
      item: 'department',
      label: 'Departments',
      description: 'Outpatient, inpatient, medical-technology and administrative departments',
      f: {
        code: 'Code',
        name: 'Name',
        kind: 'Kind',
        location: 'Location',
      },
      o: {
        kind: {
          outpatient: 'Outpatient',
          inpatient: 'Inpatient',
          medicalTech: 'Medical technology',
          administrative: 'Administrative',
        },
      },
      search: 'Search by code or name',
    },
    registrationTypes: {
      item: 'registration type',
      label: 'Registration types',
      description: 'Kinds of registration and their fees',
      f: {
        name: 'Name',
        fee: 'Fee (CNY)',
      },
      search: 'Search by name',
    },
    doctors: {
      item: 'doctor',
      label: 'Doctors',
      description: 'Doctors with staff number, title, department and registration type',
      f: {
        code: 'Staff no.',
        name: 'Name',
        sex: 'Sex',
        title: 'Title',
        departmentId: 'Department',
        registrationTypeId: 'Registration type',
        phone: 'Mobile',
        amStart: 'Morning starts',
        amEnd: 'Morning ends',
        pmStart: 'Afternoon starts',
        pmEnd: 'Afternoon ends',
        introduction: 'Introduction',
      },
      o: {
        sex: {
          male: 'Male',
          female: 'Female',
        },
        title: {
          chief: 'Chief physician',
          associateChief: 'Associate chief physician',
          attending: 'Attending physician',
          resident: 'Resident physician',
        },
      },
      search: 'Search by staff no. or name',
    },
    drugOrigins: {
      label: 'Drug origins',
      item: 'drug origin',
    },
    drugTypes: {
      label: 'Drug types',
      item: 'drug type',
    },
    units: {
      label: 'Units',
      item: 'unit',
    },
    drugs: {
      item: 'drug',
      label: 'Drug dictionary',
      description: 'Drugs with spec, type, origin, unit and retail price',
      f: {
        code: 'Code',
        name: 'Name',
        spec: 'Spec',
        typeId: 'Drug type',
        originId: 'Origin',
        unitId: 'Unit',
        price: 'Retail price (CNY)',
        lowStockThreshold: 'Low-stock threshold',
      },
      hint: {
        lowStockThreshold: 'Warn when stock falls below this quantity',
      },
      search: 'Search by code or name',
    },
    itemCategories: {
      label: 'Item categories',
      item: 'item category',
    },
    chargeItems: {
      item: 'charge item',
      label: 'Charge items',
      description: 'Outpatient and inpatient price list',
      f: {
        code: 'Code',
        name: 'Name',
        categoryId: 'Category',
        unitId: 'Unit',
        price: 'Price (CNY)',
        scope: 'Scope',
        needsExam: 'Needs examination',
      },
      o: {
        scope: {
          outpatient: 'Outpatient',
          inpatient: 'Inpatient',
          both: 'Both',
        },
      },
      search: 'Search by code or name',
    },
    chargeTypes: {
      item: 'charge type',
      label: 'Charge types',
      description: 'Self-pay and insurance types with their reimbursement ratio',
      f: {
        name: 'Name',
        reimbursementRatio: 'Reimbursement ratio',
      },
      hint: {
        reimbursementRatio: '0.00–1.00, e.g. 0.30 reimburses 30%',
      },
      search: 'Search by name',
    },
    warehouses: {
      item: 'warehouse',
      label: 'Warehouses',
      f: {
        name: 'Name',
        location: 'Location',
      },
      search: 'Search by name',
    },
    handlers: {
      item: 'handler',
      label: 'Handlers',
      description: 'People who handle inbound and outbound orders',
      f: {
        name: 'Name',
        phone: 'Mobile',
        departmentId: 'Department',
      },
      search: 'Search by name or mobile',
    },
    suppliers: {
      item: 'supplier',
      label: 'Suppliers',
      f: {
        name: 'Name',
        contact: 'Contact',
        phone: 'Phone',
        address: 'Address',
      },
      search: 'Search by name or contact',
    },
    patients: {
      item: 'patient',
      label: 'Patients',
      description: 'Outpatient patient records; with an ID card number the sex and birth date are taken from it and must agree. ID card and phone are masked for those not allowed to see personal data',
      f: {
        name: 'Name',
        sex: 'Sex',
        birthDate: 'Birth date',
        idCard: 'ID card',
        phone: 'Phone',
        address: 'Address',
      },
      hint: {
        sex: 'May be left out when the ID card number is given',
        birthDate: 'May be left out when the ID card number is given',
      },
      o: {
        sex: {
          male: 'Male',
          female: 'Female',
        },
      },
      search: 'Search by name, ID card or phone',
    },
  },
}
