import { createI18n } from 'vue-i18n'

import type { Localized } from '@/resources/types'

import en from './en'
import zhCN from './zh-CN'

export type AppLocale = 'zh-CN' | 'en'

export const LOCALES: AppLocale[] = ['zh-CN', 'en']
const STORAGE_KEY = 'hamp.locale'

export function savedLocale(): AppLocale {
  try {
    const value = localStorage.getItem(STORAGE_KEY)
    if (value === 'en' || value === 'zh-CN') return value
  } catch {
    // storage disabled: fall back to Chinese
  }
  return 'zh-CN'
}

export function saveLocale(locale: AppLocale): void {
  try {
    localStorage.setItem(STORAGE_KEY, locale)
  } catch {
    // storage disabled: the choice lasts for this page only
  }
}

export const i18n = createI18n({
  legacy: false,
  globalInjection: true,
  locale: savedLocale(),
  fallbackLocale: 'zh-CN',
  messages: { 'zh-CN': zhCN, en },
})

/** The language of the console right now. */
export function currentLocale(): AppLocale {
  return i18n.global.locale.value as AppLocale
}

/** Picks the phrase of a `{zh, en}` pair in the current language. */
export function localized(text: Localized | undefined | null): string {
  if (!text) return ''
  return currentLocale() === 'en' ? text.en : text.zh
}
