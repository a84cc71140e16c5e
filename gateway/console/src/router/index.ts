import {
  createRouter,
  createWebHistory,
  type RouteLocationNormalized,
  type RouteRecordRaw,
} from 'vue-router'

import { ApiError } from '@/api/http'
import { i18n } from '@/i18n'
import { firstPagePath, MODULE_KEYS, PAGES } from '@/pages'
import { useAuthStore } from '@/stores/auth'

// Every page of the layout comes from src/pages/index.ts, as does the menu.
const pageRoutes: RouteRecordRaw[] = PAGES.map((page) => ({
  path: `${page.module}/${page.path}`,
  name: `${page.module}-${page.path}`,
  component: page.component,
  props: page.props ?? false,
  meta: { module: page.module, permission: page.permission, titleKey: page.title },
}))

/** `/dbs`, `/system`: the first page of the module the user may open, else 403 (after the guard loaded the user). */
const firstPageOf = (module: string) => () => firstPagePath(module, (p) => useAuthStore().can(p)) ?? { name: 'forbidden' }

const routes: RouteRecordRaw[] = [
  {
    path: '/login',
    name: 'login',
    component: () => import('@/pages/account/LoginPage.vue'),
    meta: { public: true, titleKey: 'login.title' },
  },
  {
    // Signed in but not yet through the mandatory change of an initial (or reset) password.
    path: '/change-password',
    name: 'change-password',
    component: () => import('@/pages/account/ChangePasswordPage.vue'),
    meta: { titleKey: 'password.title' },
  },
  {
    // 账号安全: two-step verification; where an administrator must set it up before anything else.
    path: '/account/security',
    name: 'account-security',
    component: () => import('@/pages/account/SecondFactorPage.vue'),
    meta: { titleKey: 'twoFactor.title' },
  },
  {
    path: '/',
    component: () => import('@/layouts/MainLayout.vue'),
    children: [
      { path: '', name: 'home', component: () => import('@/pages/HomePage.vue'), meta: { titleKey: 'common.home' } },
      { path: 'dbs', name: 'dbs', component: () => import('@/pages/ErrorPage.vue'), beforeEnter: firstPageOf('dbs') },
      { path: 'system', name: 'system', component: () => import('@/pages/ErrorPage.vue'), beforeEnter: firstPageOf('system') },
      // 我的消息: every user's own notices and notifications (no permission: what reaches whom is decided per row).
      { path: 'messages', name: 'messages', component: () => import('@/pages/system/MessagesPage.vue'), meta: { titleKey: 'notify.inbox.title' } },
      ...pageRoutes,
      {
        // The business modules besides master data (which has its own route above).
        path: `:module(${MODULE_KEYS.filter((m) => m !== 'dbs').join('|')})`,
        name: 'module',
        component: () => import('@/pages/ModulePage.vue'),
        props: true,
        beforeEnter: (to) => {
          const auth = useAuthStore()
          const key = String(to.params.module)
          if (auth.visibleModules.some((m) => m.key === key)) {
            // A module with console pages opens at the first one the user may use.
            return firstPagePath(key, (p) => auth.can(p)) ?? true
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
        component: () => import('@/pages/ErrorPage.vue'),
        props: { code: 403 },
        meta: { titleKey: 'errors.forbiddenTitle' },
      },
    ],
  },
  {
    path: '/:pathMatch(.*)*',
    name: 'not-found',
    component: () => import('@/pages/ErrorPage.vue'),
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
  const title = route.meta.titleKey ? i18n.global.t(route.meta.titleKey) : ''
  return title ? `${title} · ${appName}` : appName
}

router.afterEach((to) => {
  document.title = pageTitle(to)
})
