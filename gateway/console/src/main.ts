import 'element-plus/dist/index.css'
import './styles/main.css'

import ElementPlus, { ElMessage } from 'element-plus'
import { createPinia } from 'pinia'
import { createApp } from 'vue'

import { configureHttp } from './api/http'
import App from './App.vue'
import { currentLocale, i18n } from './i18n'
import { isNavigating, router } from './router'
import { useAuthStore } from './stores/auth'

const app = createApp(App)
const pinia = createPinia()
app.use(pinia)
app.use(i18n)
app.use(ElementPlus)

let expiredNoticeShown = false
/** Why the session ended, as the refused renewal said (idle, or past its maximum length). */
function endedMessage(code: string | null): string {
  if (code === 'session_idle') return 'errors.sessionIdle'
  if (code === 'session_expired') return 'errors.sessionTooLong'
  return 'errors.sessionExpired'
}
configureHttp({
  token: () => useAuthStore(pinia).token,
  language: () => currentLocale(),
  networkMessage: () => i18n.global.t('errors.network'),
  renew: (used) => useAuthStore(pinia).renew(used),
  onUnauthorized: () => {
    const auth = useAuthStore(pinia)
    const hadSession = auth.loggedIn
    auth.clear()
    if (isNavigating()) return
    const current = router.currentRoute.value
    if (current.meta.public) return
    if (hadSession && !expiredNoticeShown) {
      expiredNoticeShown = true
      ElMessage.warning({ message: i18n.global.t(endedMessage(auth.endedBecause)), onClose: () => (expiredNoticeShown = false) })
    }
    void router.replace({ name: 'login', query: { redirect: current.fullPath } })
  },
  onPasswordChangeRequired: () => {
    useAuthStore(pinia).requirePasswordChange()
    if (isNavigating()) return
    const current = router.currentRoute.value
    if (current.name === 'change-password' || current.meta.public) return
    void router.replace({ name: 'change-password', query: { redirect: current.fullPath } })
  },
  onEnrolmentRequired: () => {
    useAuthStore(pinia).requireEnrolment()
    if (isNavigating()) return
    const current = router.currentRoute.value
    if (current.name === 'account-security' || current.meta.public) return
    void router.replace({ name: 'account-security', query: { redirect: current.fullPath } })
  },
})

app.use(router)
void router.isReady().then(() => app.mount('#app'))
