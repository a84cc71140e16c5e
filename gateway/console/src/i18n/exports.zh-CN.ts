// Texts of 导出 (components/list/ExportButton.vue). exports.en.ts must have the same keys (type-checked).
export const exportsZh = {
  exporting: {
    button: '导出',
    xlsx: '导出 Excel（XLSX）',
    csv: '导出 CSV',
    working: '正在导出，数据较多时需要一些时间…',
    done: '已导出 {name}',
    noList: '列表尚未加载，请稍后再试',
    // Headers of the file columns a screen column splits into (utils/exportTexts.ts `part`).
    f: {
      audienceCount: '应读人数',
      resolvedBy: '处理人',
      resolutionNote: '处理说明',
    },
  },
}
