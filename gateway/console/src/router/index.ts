import {
  createRouter,
  createWebHistory,
  type RouteComponent,
  type RouteLocationNormalized,
  type RouteRecordRaw,
} from 'vue-router'

import { ApiError } from '@/api/http'
import { i18n, localized } from '@/i18n'
import { readPermission, resources } from '@/resources'
import { useAuthStore } from '@/stores/auth'
import { MODULE_PAGES, pagesOf } from '@/modules/pages'
import { SYSTEM_PAGES } from '@/system/pages'

/** Modules that have their own pages in the console; the others show a placeholder. */
export const MODULES_WITH_PAGES = new Set(['dbs', 'dms', 'oms', 'pms'])

const resourceRoutes: RouteRecordRaw[] = resources.map((resource) => ({
  path: `dbs/${resource.path}`,
  name: `dbs-${resource.path}`,
  component: () => import('@/views/ResourceView.vue'),
  props: { resourcePath: resource.path },
  meta: { module: 'dbs', resource: resource.path, permission: readPermission(resource) },
}))

const systemComponents: Record<string, () => Promise<{ default: RouteComponent }>> = {
  users: () => import('@/views/system/UsersView.vue'),
  roles: () => import('@/views/system/RolesView.vue'),
  'login-log': () => import('@/views/system/LoginLogView.vue'),
  'operation-log': () => import('@/views/system/OperationLogView.vue'),
  sessions: () => import('@/views/system/SessionsView.vue'),
  'security-policy': () => import('@/views/system/SecurityPolicyView.vue'),
  outbox: () => import('@/views/system/OutboxView.vue'),
}

const moduleComponents: Record<string, () => Promise<{ default: RouteComponent }>> = {
  'dms/roster': () => import('@/pages/dms/RosterPage.vue'),
  'dms/leaves': () => import('@/pages/dms/LeavesPage.vue'),
  'dms/visit-records': () => import('@/pages/dms/VisitRecordsPage.vue'),
  'oms/patients': () => import('@/views/ResourceView.vue'),
  'oms/registration': () => import('@/pages/oms/RegistrationPage.vue'),
  'oms/queue': () => import('@/pages/oms/QueuePage.vue'),
  'oms/pricing': () => import('@/pages/oms/PricingPage.vue'),
  'oms/payments': () => import('@/pages/oms/PaymentsPage.vue'),
  'oms/exams': () => import('@/pages/oms/ExamsPage.vue'),
  'oms/refunds': () => import('@/pages/oms/RefundsPage.vue'),
  'oms/settlements': () => import('@/pages/oms/SettlementsPage.vue'),
  'oms/visits': () => import('@/pages/oms/VisitsPage.vue'),
  'pms/dispensing': () => import('@/pages/pms/DispensingPage.vue'),
}

const moduleRoutes: RouteRecordRaw[] = MODULE_PAGES.map((page) => ({
  path: `${page.module}/${page.path}`,
  name: `${page.module}-${page.path}`,
  component: moduleComponents[`${page.module}/${page.path}`]!,
  // 患者库 is the generic master-data page on /api/oms/patients.
  props: page.module === 'oms' && page.path === 'patients' ? { resourcePath: 'patients', module: 'oms' } : false,
  meta: { module: page.module, permission: page.permission, titleKey: page.titleKey },
}))

const systemRoutes: RouteRecordRaw[] = SYSTEM_PAGES.map((page) => ({
  path: `system/${page.path}`,
  name: `system-${page.path}`,
  component: systemComponents[page.path],
  meta: { module: 'system', permission: page.permission, titleKey: page.titleKey },
}))

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/views/LoginView.vue'),
    meta: { public: true, titleKey: 'login.title' },
  },
  {
    // Signed in but not yet through the mandatory change of an initial (or reset) password.
    path: '/change-password',
    name: 'change-password',
    component: () => import('@/views/ChangePasswordView.vue'),
    meta: { titleKey: 'password.title' },
  },
  {
    // 账号安全: two-step verification; where an administrator must set it up before anything else.
    path: '/account/security',
    name: 'account-security',
    component: () => import('@/views/SecondFactorView.vue'),
    meta: { titleKey: 'twoFactor.title' },
  },
  {
    path: '/',
    component: () => import('@/layouts/MainLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('@/views/HomeView.vue'), meta: { titleKey: 'common.home' } },
      {
        // After the global guard (which loads the user): the first page the user may read.
        path: 'dbs',
        name: 'dbs',
        component: () => import('@/views/ErrorView.vue'),
        beforeEnter: () => {
          const auth = useAuthStore()
          const first = resources.find((r) => auth.can(readPermission(r)))
          return first ? `/dbs/${first.path}` : { name: 'forbidden' }
        },
      },
      ...resourceRoutes,
      {
        path: 'system',
        name: 'system',
        component: () => import('@/views/ErrorView.vue'),
        beforeEnter: () => {
          const auth = useAuthStore()
          const first = SYSTEM_PAGES.find((p) => auth.can(p.permission))
          return first ? `/system/${first.path}` : { name: 'forbidden' }
        },
      },
      ...systemRoutes,
      ...moduleRoutes,
      {
        path: ':module(oms|hms|tms|dms|sms|pms)',
        name: 'module',
        component: () => import('@/views/ModuleView.vue'),
        props: true,
        beforeEnter: (to) => {
          const auth = useAuthStore()
          const key = String(to.params.module)
          if (auth.visibleModules.some((m) => m.key === key)) {
            // A module with console pages opens at the first one the user may use.
            const first = pagesOf(key).find((p) => auth.can(p.permission))
            return first ? `/${key}/${first.path}` : true
          }
          const offered = auth.modules.some((m) => m.key === key && m.available)
          return offered
            ? { name: 'forbidden' }
            : { name: 'not-found', params: { pathMatch: to.path.slice(1).split('/') } }
        },
      },
      {
        path: '403',
        name: 'forbidden',
        component: () => import('@/views/ErrorView.vue'),
        props: { code: 403 },
        meta: { titleKey: 'errors.forbiddenTitle' },
      },
    ],
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/views/ErrorView.vue'),
    props: { code: 404, standalone: true },
    meta: { public: true, titleKey: 'errors.notFoundTitle' },
  },
]

export const router = createRouter({
  history: createWebHistory(import.meta.env.BASE_URL),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

/** Only same-site paths are followed after login (no `//evil.example`). */
export function safeRedirect(value: unknown): string {
  return typeof value === 'string' && value.startsWith('/') && !value.startsWith('//') ? value : '/'
}

// Whether the router is deciding a navigation (its guard then handles a 401 itself).
// Registered before the guard below so that it is already set while the guard runs.
let navigating = false
export const isNavigating = (): boolean => navigating
router.beforeEach(() => {
  navigating = true
})
router.afterEach(() => {
  navigating = false
})
router.onError(() => {
  navigating = false
})

router.beforeEach(async (to) => {
  const auth = useAuthStore()
  if (to.meta.public) {
    if (to.name === 'login' && auth.loggedIn) return safeRedirect(to.query.redirect)
    return true
  }
  if (!auth.loggedIn) return { name: 'login', query: { redirect: to.fullPath } }
  try {
    await auth.ensureProfile()
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) {
      auth.clear()
      return { name: 'login', query: { redirect: to.fullPath } }
    }
    // The gateway is unreachable or failed: stay, the layout shows what it can.
    console.error('HAMP: cannot load the profile', error)
  }
  // An initial or reset password must be changed before anything else.
  if (auth.mustChangePassword && to.name !== 'change-password') {
    return { name: 'change-password', query: { redirect: to.fullPath } }
  }
  // Then an administrator's second factor, before anything else opens.
  if (!auth.mustChangePassword && auth.enrolmentRequired && to.name !== 'account-security') {
    return { name: 'account-security', query: { redirect: to.fullPath } }
  }
  if (to.meta.permission && !auth.can(to.meta.permission)) return { name: 'forbidden' }
  return true
})

export function pageTitle(route: RouteLocationNormalized): string {
  const appName = i18n.global.t('app.name')
  const resource = route.meta.resource ? resources.find((r) => r.path === route.meta.resource) : undefined
  const title = resource ? localized(resource.label) : route.meta.titleKey ? i18n.global.t(route.meta.titleKey) : ''
  return title ? `${title} · ${appName}` : appName
}

router.afterEach((to) => {
  document.title = pageTitle(to)
})
