// Texts of the master-data resources and 患者库 (src/resources): titles, fields, options,
// hints. resources.en.ts must have the same keys (type-checked).
export const resourcesZh = {
  res: {
    common: {
      code: '编码',
      name: '名称',
      description: '描述',
      phone: '电话',
      searchName: '搜索名称',
    },
    departments: {
      item: '科室',
      label: '科室',
      description: '医院的门诊、住院、医技与行政科室',
      f: {
        code: '科室编码',
        name: '科室名称',
        kind: '科室类别',
        location: '位置',
      },
      o: {
        kind: {
          outpatient: '门诊',
          inpatient: '住院',
          medicalTech: '医技',
          administrative: '行政',
        },
      },
      search: '搜索科室编码、名称',
    },
    registrationTypes: {
      item: '挂号类型',
      label: '挂号类型',
      description: '挂号类别及其挂号费',
      f: {
        name: '类型名称',
        fee: '挂号费（元）',
      },
      search: '搜索类型名称',
    },
    doctors: {
      item: '医生',
      label: '医生',
      description: '医生档案：工号、职称、所属科室与挂号类型',
      f: {
        code: '工号',
        name: '姓名',
        sex: '性别',
        title: '职称',
        departmentId: '所属科室',
        registrationTypeId: '挂号类型',
        phone: '手机号',
        amStart: '上午开始',
        amEnd: '上午结束',
        pmStart: '下午开始',
        pmEnd: '下午结束',
        introduction: '简介',
      },
      o: {
        sex: {
          male: '男',
          female: '女',
        },
        title: {
          chief: '主任医师',
          associateChief: '副主任医师',
          attending: '主治医师',
          resident: '住院医师',
        },
      },
      search: '搜索工号、姓名',
    },
    drugOrigins: {
      label: '产地',
      item: '产地',
    },
    drugTypes: {
      label: '药品类型',
      item: '药品类型',
    },
    units: {
      label: '计量单位',
      item: '计量单位',
    },
    drugs: {
      item: '药品',
      label: '药品字典',
      description: '药品的规格、类型、产地、单位与零售价',
      f: {
        code: '药品编码',
        name: '药品名称',
        spec: '规格',
        typeId: '药品类型',
        originId: '产地',
        unitId: '计量单位',
        price: '零售价（元）',
        lowStockThreshold: '库存预警阈值',
      },
      hint: {
        lowStockThreshold: '库存低于此数量时提醒',
      },
      search: '搜索药品编码、名称',
    },
    itemCategories: {
      label: '项目大类',
      item: '项目大类',
    },
    chargeItems: {
      item: '收费项目',
      label: '收费项目',
      description: '门诊与住院的收费项目价目表',
      f: {
        code: '项目编码',
        name: '项目名称',
        categoryId: '项目大类',
        unitId: '计量单位',
        price: '单价（元）',
        scope: '适用范围',
        needsExam: '需要检查',
      },
      o: {
        scope: {
          outpatient: '门诊',
          inpatient: '住院',
          both: '通用',
        },
      },
      search: '搜索项目编码、名称',
    },
    chargeTypes: {
      item: '收费类型',
      label: '收费类型',
      description: '自费、医保等收费类型及报销比例',
      f: {
        name: '类型名称',
        reimbursementRatio: '报销比例',
      },
      hint: {
        reimbursementRatio: '0.00–1.00，例如 0.30 表示报销 30%',
      },
      search: '搜索类型名称',
    },
    warehouses: {
      item: '仓库',
      label: '仓库',
      f: {
        name: '仓库名称',
        location: '位置',
      },
      search: '搜索仓库名称',
    },
    handlers: {
      item: '经办人',
      label: '经办人',
      description: '办理出入库等业务的经办人',
      f: {
        name: '姓名',
        phone: '手机号',
        departmentId: '所属科室',
      },
      search: '搜索姓名、手机号',
    },
    suppliers: {
      item: '供货商',
      label: '供货商',
      f: {
        name: '供货商名称',
        contact: '联系人',
        phone: '联系电话',
        address: '地址',
      },
      search: '搜索名称、联系人',
    },
    patients: {
      item: '患者',
      label: '患者库',
      description: '门诊患者档案；填写身份证号时性别和出生日期按身份证号自动填写，须与之一致；无查看个人信息权限时身份证号与电话脱敏显示',
      f: {
        name: '姓名',
        sex: '性别',
        birthDate: '出生日期',
        idCard: '身份证号',
        phone: '电话',
        address: '地址',
      },
      hint: {
        sex: '填写身份证号时可不填',
        birthDate: '填写身份证号时可不填',
      },
      o: {
        sex: {
          male: '男',
          female: '女',
        },
      },
      search: '搜索姓名、身份证号、电话',
    },
  },
}
