import { tokenHeaders } from "./panel-token";

/** GET a JSON API route (with the panel token); throws with the server's message so react-query shows it. */
export async function fetchJson<T>(url: string): Promise<T> {
  const response = await fetch(url, { cache: "no-store", headers: tokenHeaders() });
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error((body as { error?: string }).error ?? `${url} answered ${response.status}`);
  return body as T;
}
