import type { exportsZh } from './exports.zh-CN'

export const exportsEn: typeof exportsZh = {
  exporting: {
    button: 'Export',
    xlsx: 'Export Excel (XLSX)',
    csv: 'Export CSV',
    working: 'Exporting; a long list takes a while…',
    done: 'Exported {name}',
    noList: 'The list has not loaded yet; try again shortly',
    f: {
      audienceCount: 'Recipients',
      resolvedBy: 'Resolved by',
      resolutionNote: 'Resolution note',
    },
  },
}
