// 导出 of every list page (docs/exports.md): the file has the columns the screen shows, with the
// screen's headers, and a column that shows a code in words carries those words. Each page is
// mounted (its list never answers) to read what its header would export; its template is read to
// find the columns that show data and those that turn a code into words.
import { flushPromises, mount } from '@vue/test-utils'
import ElementPlus from 'element-plus'
import { createPinia, setActivePinia } from 'pinia'
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import type { Component } from 'vue'
import { parse } from 'vue/compiler-sfc'
import { createMemoryHistory, createRouter } from 'vue-router'

import type { User } from '@/api/auth'
import { i18n } from '@/i18n'
import { useAuthStore } from '@/stores/auth'
import { EXPORT_SOURCE, tableColumns, type ExportSource } from '@/utils/exports'

const sources = import.meta.glob<string>(['./**/*.vue', '../components/inpatient/DepositsTable.vue'], { query: '?raw', import: 'default', eager: true })
const modules = import.meta.glob<{ default: Component }>('./**/*.vue')

/** Pages whose exported table sits in a child component: the file and the ref of its el-table. */
const TABLE_IN: Record<string, [string, string]> = {
  './hms/DepositsPage.vue': ['../components/inpatient/DepositsTable.vue', 'inner'],
}

/** The master-data page draws its columns from src/resources and exports from the same config. */
const NOT_WALKED = new Set(['./dbs/ResourcePage.vue'])

/**
 * Columns the screen shows that the file leaves out, by the i18n key of their header, and why:
 * each is drawn from an array of the row (its lines, its roles) or from data the row does not
 * carry, which one cell of a file cannot hold without the list answering it as a field.
 */
const NOT_EXPORTED: Record<string, Record<string, string>> = {
  './pms/DeliveriesPage.vue': { 'pms.f.lines': 'lines', 'pms.f.value': 'summed from the lines' },
  './pms/DispensingPage.vue': { 'opd.f.lines': 'lines' },
  './pms/DrugReturnsPage.vue': { 'pms.f.lines': 'lines' },
  './pms/ShortagesPage.vue': { 'pms.f.lines': 'lines' },
  './pms/WarehouseReturnsPage.vue': { 'pms.f.lines': 'lines', 'pms.f.value': 'summed from the lines' },
  './sms/InboundPage.vue': { 'sms.f.lines': 'a count of the lines' },
  './sms/PurchasesPage.vue': { 'sms.f.lines': 'a count of the lines' },
  './sms/OutboundPage.vue': { 'sms.f.lines': 'lines', 'sms.outbound.shortage': 'a number read per row from another list' },
  './sms/ReturnsPage.vue': { 'sms.f.lines': 'lines', 'sms.f.purchaseValue': 'summed from the lines' },
  './sms/ShortagesPage.vue': { 'sms.f.lines': 'lines' },
  './system/RolesPage.vue': { 'system.roles.permissions': 'the permission list' },
  './system/UsersPage.vue': { 'system.users.roles': 'the role list' },
}

/** Columns with a tag that is a mark on a plain value rather than a code's words. */
const MARK_ONLY: Record<string, string[]> = {
  './system/RolesPage.vue': ['name'], // 内置 beside a role's name
}

/** Functions that format a value (a time, money, a count) rather than name a code. */
const FORMATTERS = new Set(['formatHospitalTime', 'money', 'signedQuantity', 'daysLeftText'])

interface TemplateColumn {
  prop: string | null
  dynamicProp: boolean
  labelKey: string | null
  type: string | null
  coded: boolean
  /** Its slot may render nothing for a row: Element Plus then shows the raw `prop` value there. */
  mayBeEmpty: boolean
  source: string
}

interface Node {
  type: number
  tag?: string
  props?: { type: number; name: string; value?: { content: string }; arg?: { content: string }; exp?: { content: string } }[]
  children?: Node[]
  loc: { source: string }
}

function attr(node: Node, name: string): { value: string; bound: boolean } | null {
  for (const p of node.props ?? []) {
    if (p.type === 6 && p.name === name) return { value: p.value?.content ?? '', bound: false }
    if (p.type === 7 && p.name === 'bind' && p.arg?.content === name) return { value: p.exp?.content ?? '', bound: true }
  }
  return null
}

const hasDirective = (node: Node, name: string) => (node.props ?? []).some((p) => p.type === 7 && p.name === name)

/** A column's default slot whose every element is conditional (v-if, no v-else), with no text beside. */
function mayBeEmpty(column: Node): boolean {
  const slot = column.children?.find((c) => c.tag === 'template' && hasDirective(c, 'slot'))
  if (!slot) return false
  const shown = (slot.children ?? []).filter((c) => c.type !== 3) // comments aside
  if (shown.some((c) => c.type !== 1)) return false // text or an interpolation always renders
  return shown.length > 0 && shown.every((c) => hasDirective(c, 'if') || hasDirective(c, 'else-if'))
}

function isCoded(source: string): boolean {
  if (/<el-tag\b/.test(source) || /<[A-Z]\w*Tag\b/.test(source)) return true
  if (/\$t\(`[^`]*\$\{row\./.test(source)) return true
  return [...source.matchAll(/\b(\w+)\(row\.\w+/g)].some((m) => !FORMATTERS.has(m[1]!))
}

/** The el-table-columns of the table marked `ref` in `file`'s template, as written. */
function templateColumns(file: string, ref: string): TemplateColumn[] {
  const ast = parse(sources[file]!).descriptor.template!.ast as unknown as Node
  let table: Node | null = null
  const find = (node: Node): void => {
    if (table) return
    if (node.tag === 'el-table' && attr(node, 'ref')?.value === ref) table = node
    else node.children?.forEach(find)
  }
  find(ast)
  expect(table, `${file} has an el-table ref="${ref}"`).not.toBeNull()
  const columns: TemplateColumn[] = []
  const walk = (node: Node): void => {
    for (const child of node.children ?? []) {
      if (child.tag === 'el-table-column') {
        const prop = attr(child, 'prop')
        const label = attr(child, 'label')
        columns.push({
          prop: prop && !prop.bound ? prop.value : null,
          dynamicProp: Boolean(prop?.bound),
          labelKey: label?.bound ? (/^\$t\('([\w.]+)'\)$/.exec(label.value)?.[1] ?? null) : null,
          type: attr(child, 'type')?.value ?? null,
          coded: isCoded(child.loc.source),
          mayBeEmpty: mayBeEmpty(child),
          source: child.loc.source,
        })
      } else if (child.tag === 'template') {
        walk(child) // a v-if around some columns
      }
    }
  }
  walk(table!)
  return columns
}

const PAGES = Object.keys(modules)
  .filter((file) => !NOT_WALKED.has(file))
  .filter((file) => sources[file]!.includes('usePagedList') && sources[file]!.includes('<PageHeader'))
  .sort()

async function exportOf(file: string): Promise<ExportSource> {
  const page = (await modules[file]!()).default
  const router = createRouter({ history: createMemoryHistory(), routes: [{ path: '/:any(.*)*', component: { template: '<div />' } }] })
  const wrapper = mount(page, { global: { plugins: [i18n, ElementPlus, router] } })
  await flushPromises()
  const provides = (wrapper.vm.$ as unknown as { provides: Record<symbol, unknown> }).provides
  const source = provides[EXPORT_SOURCE as symbol] as ExportSource | undefined
  expect(source, `${file} offers its list to 导出`).toBeDefined()
  return source!
}

beforeEach(() => {
  const pinia = createPinia()
  setActivePinia(pinia)
  useAuthStore().user = { id: 1, username: 'boss', real_name: '院长', permissions: ['*'] } as unknown as User
  // The lists never answer: the columns and their words do not depend on the rows.
  vi.stubGlobal('fetch', () => new Promise(() => {}))
})

afterEach(() => {
  vi.unstubAllGlobals()
})

const RAW_KEY = /^[a-z]+(\.[A-Za-z_]+)+$/

describe('every list page exports what it shows, in words', () => {
  it('walks the pages that export a list', () => {
    expect(PAGES.length).toBeGreaterThanOrEqual(30)
    expect(PAGES).toContain('./hms/DepositsPage.vue')
  })

  it.each(PAGES)('%s', async (file) => {
    const [tableFile, ref] = TABLE_IN[file] ?? [file, 'table']
    const columns = templateColumns(tableFile, ref)
    const left = NOT_EXPORTED[file] ?? {}
    const actions = (c: TemplateColumn) => c.labelKey === 'common.actions'

    for (const c of columns) {
      if (c.type && c.type !== 'default') continue
      if (actions(c)) {
        expect(c.prop, `${file}: an action column is not exported`).toBeNull()
        continue
      }
      if (c.labelKey && left[c.labelKey]) continue
      expect(c.prop !== null || c.dynamicProp, `${file}: a column the screen shows is not exported:\n${c.source}`).toBe(true)
      expect(c.mayBeEmpty && c.prop !== null, `${file}: rows where the slot renders nothing show the raw value:\n${c.source}`).toBe(false)
    }
    for (const key of Object.keys(left)) {
      expect(columns.some((c) => c.labelKey === key && c.prop === null), `${file}: ${key} is listed as not exported but is`).toBe(true)
    }

    const source = await exportOf(file)
    const values = source.options.values?.() ?? {}
    const parts = source.options.parts?.() ?? {}
    const keys = source.options.keys?.() ?? {}
    for (const c of columns) {
      if (!c.coded || actions(c) || (c.type && c.type !== 'default') || !c.prop) continue
      if ((MARK_ONLY[file] ?? []).includes(c.prop)) continue
      const worded = values[c.prop] || parts[c.prop] || keys[c.prop] || /_(label|name)$/.test(c.prop)
      expect(worded, `${file}: column ${c.prop} shows a code in words but exports no words for it`).toBeTruthy()
    }

    const exported = tableColumns(source.table.value, source.options)
    expect(exported.length, `${file}: the table's columns are read`).toBeGreaterThan(0)
    const labels = exported.map((c) => c.label)
    expect(new Set(labels).size, `${file}: two file columns share a header: ${labels.join(', ')}`).toBe(labels.length)
    for (const c of exported) {
      expect(c.label.trim(), `${file}: ${c.key} has a header`).not.toBe('')
      expect(c.label, `${file}: ${c.key}'s header is an i18n key`).not.toMatch(RAW_KEY)
      for (const text of Object.values(c.values ?? {})) expect(text, `${file}: ${c.key}'s words`).not.toMatch(RAW_KEY)
    }
  })
})
