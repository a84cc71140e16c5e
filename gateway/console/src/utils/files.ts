// Files behind the API (receipts, exam results) need the bearer token, which is not a cookie:
// they are fetched as Blobs and shown through object URLs.
import { http } from '@/api/http'

/**
 * Opens a file of the API in a new tab. The tab is opened synchronously (inside the click,
 * so no popup blocker objects) and pointed at the object URL once the file has arrived.
 */
export async function openApiFile(url: string, filename?: string): Promise<void> {
  const tab = window.open('', '_blank')
  try {
    const blob = await http.blob(url)
    const objectUrl = URL.createObjectURL(blob)
    if (tab && !tab.closed) tab.location.href = objectUrl
    else saveBlob(blob, filename ?? 'file')
    // Long enough for the tab to load it.
    setTimeout(() => URL.revokeObjectURL(objectUrl), 60_000)
  } catch (error) {
    tab?.close()
    throw error
  }
}

/** Downloads a file of the API under its name. */
export async function downloadApiFile(url: string, filename: string): Promise<void> {
  saveBlob(await http.blob(url), filename)
}

export function saveBlob(blob: Blob, filename: string): void {
  const objectUrl = URL.createObjectURL(blob)
  const a = document.createElement('a')
  a.href = objectUrl
  a.download = filename
  document.body.appendChild(a)
  a.click()
  a.remove()
  setTimeout(() => URL.revokeObjectURL(objectUrl), 10_000)
}

export function formatSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KB`
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`
}
