// The role editor's permission tree, built from `GET /api/system/permissions`
// (module → resource → action), and the way checked boxes become a role's permissions.

import type { CatalogueModule } from '@/api/system'
import type { Localized } from '@/resources/types'

import { grants } from './permissions'

export interface PermissionNode {
  /** `#m:<module>`, `#r:<resource key>`, or the permission key itself for a leaf. */
  id: string
  label: string
  /** The permission key (leaves only). */
  permission?: string
  kind: 'module' | 'resource' | 'permission'
  disabled?: boolean
  children?: PermissionNode[]
}

export const moduleNodeId = (module: string) => `#m:${module}`
export const resourceNodeId = (key: string) => `#r:${key}`

export interface TreeLabels {
  localized: (text: Localized | undefined | null) => string
  action: (action: string) => string
}

function resourceLabel(key: string, module: string, name: Localized | undefined, labels: TreeLabels): string {
  const text = labels.localized(name) || (key.startsWith(`${module}:`) ? key.slice(module.length + 1) : key)
  // The server's English names are lower case ("department"): a tree label starts upper case.
  return text.charAt(0).toUpperCase() + text.slice(1)
}

/**
 * The catalogue with each module's resources in the given order (the console's menu order for
 * master data); resources the order does not know keep the server's order, after the others.
 */
export function orderResources(catalogue: CatalogueModule[], rank: (resourceKey: string) => number): CatalogueModule[] {
  return catalogue.map((m) => {
    const indexed = m.resources.map((r, i) => ({ r, i, rank: rank(r.key) }))
    indexed.sort((a, b) => a.rank - b.rank || a.i - b.i)
    return { ...m, resources: indexed.map((x) => x.r) }
  })
}

export function buildTree(catalogue: CatalogueModule[], labels: TreeLabels, disabled = false): PermissionNode[] {
  return catalogue.map((m) => {
    const leaves = (permissions: CatalogueModule['resources'][number]['permissions']): PermissionNode[] =>
      permissions.map((p) => ({
        id: p.key,
        label: labels.localized(p.name) || labels.action(p.action),
        permission: p.key,
        kind: 'permission',
        disabled,
      }))
    // A module whose only resource is the module itself (`pii` → `pii:read`) shows its actions directly.
    const flat = m.resources.length === 1 && m.resources[0]!.key === m.module
    const children: PermissionNode[] = flat
      ? leaves(m.resources[0]!.permissions)
      : m.resources.map((r) => ({
          id: resourceNodeId(r.key),
          label: resourceLabel(r.key, m.module, r.name, labels),
          kind: 'resource',
          disabled,
          children: leaves(r.permissions),
        }))
    return { id: moduleNodeId(m.module), label: labels.localized(m.name) || m.module, kind: 'module', disabled, children }
  })
}

/** The catalogue without the permissions `holds` refuses (and without what is then empty). */
export function onlyHeld(catalogue: CatalogueModule[], holds: (permission: string) => boolean): CatalogueModule[] {
  return catalogue
    .map((m) => ({
      ...m,
      resources: m.resources
        .map((r) => ({ ...r, permissions: r.permissions.filter((p) => holds(p.key)) }))
        .filter((r) => r.permissions.length > 0),
    }))
    .filter((m) => m.resources.length > 0)
}

/** Every permission key the catalogue offers, in its order. */
export function catalogueKeys(catalogue: CatalogueModule[]): string[] {
  return catalogue.flatMap((m) => m.resources.flatMap((r) => r.permissions.map((p) => p.key)))
}

const isWildcard = (permission: string) => permission === '*' || permission.endsWith(':*')

/**
 * A role's permissions seen through the catalogue: the boxes to check (every catalogue
 * permission that one of them grants, so `dbs:*` checks all of dbs) and the permissions that
 * are not a box — wildcards and permissions of services not running now (not in the catalogue).
 */
export function splitPermissions(catalogue: CatalogueModule[], held: readonly string[]): { checked: string[]; extras: string[] } {
  const keys = catalogueKeys(catalogue)
  const known = new Set(keys)
  return {
    checked: keys.filter((k) => held.some((h) => grants(h, k))),
    extras: held.filter((h) => !known.has(h)),
  }
}

/**
 * What to save: the checked boxes, plus the kept extras. A wildcard is kept while every box it
 * covers is still checked (then those boxes are not listed again) and dropped as soon as one of
 * them is unchecked; a wildcard covering no box now (its service is not running) is kept as is.
 */
export function joinPermissions(catalogue: CatalogueModule[], checked: readonly string[], extras: readonly string[]): string[] {
  const keys = catalogueKeys(catalogue)
  const on = new Set(checked)
  const kept: string[] = []
  const covered = new Set<string>()
  for (const extra of extras) {
    if (!isWildcard(extra)) {
      kept.push(extra)
      continue
    }
    const mine = keys.filter((k) => grants(extra, k))
    if (mine.every((k) => on.has(k))) {
      kept.push(extra)
      mine.forEach((k) => covered.add(k))
    }
  }
  return [...kept, ...keys.filter((k) => on.has(k) && !covered.has(k))]
}
