/// <reference types="vite/client" />

import 'vue-router'

declare module 'vue-router' {
  interface RouteMeta {
    /** Reachable without a session (the login page, error pages). */
    public?: boolean
    /** Permission needed to open the page, e.g. `dbs:department:read`. */
    permission?: string
    /** Module key the page belongs to (for the menu and breadcrumb). */
    module?: string
    /** i18n key of the page title. */
    titleKey?: string
  }
}
