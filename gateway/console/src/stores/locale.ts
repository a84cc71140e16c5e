import type { Language } from 'element-plus/es/locale'
import en from 'element-plus/es/locale/lang/en'
import zhCn from 'element-plus/es/locale/lang/zh-cn'
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { i18n, saveLocale, savedLocale, type AppLocale } from '@/i18n'

function applyDocument(locale: AppLocale): void {
  document.documentElement.lang = locale
}

export const useLocaleStore = defineStore('locale', () => {
  const locale = ref<AppLocale>(savedLocale())
  applyDocument(locale.value)

  /** Element Plus's own texts (pagination, dialogs, date pickers). */
  const elementLocale = computed<Language>(() => (locale.value === 'en' ? en : zhCn))

  function setLocale(next: AppLocale): void {
    locale.value = next
    i18n.global.locale.value = next
    saveLocale(next)
    applyDocument(next)
  }

  return { locale, elementLocale, setLocale }
})
