// POSTs a summary as Slack-compatible JSON ({"text": …}) to the webhook named by an env var.
// Never throws: the caller shows a failed POST, and the deploy's outcome stays what it was.

export const WEBHOOK_ENV = "DECKHAND_NOTIFY_WEBHOOK_URL";

export type WebhookResult =
  | { ok: true; status: number }
  | { ok: false; skipped: true; error: string }
  | { ok: false; skipped?: false; status?: number; error: string };

export async function postSummary(text: string, options: { env?: Record<string, string | undefined>; timeoutMs?: number } = {}): Promise<WebhookResult> {
  const url = (options.env ?? process.env)[WEBHOOK_ENV];
  if (!url) return { ok: false, skipped: true, error: `${WEBHOOK_ENV} is not set: nothing was sent` };
  // A webhook URL is a credential (Slack's carry their secret in the path): it never appears in a message.
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, error: `${WEBHOOK_ENV} is not a URL` };
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return { ok: false, error: `${WEBHOOK_ENV} must be an http(s) URL` };
  const where = `the webhook at ${parsed.host}`;
  try {
    const response = await fetch(parsed, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ text }),
      redirect: "manual",
      signal: AbortSignal.timeout(options.timeoutMs ?? 10_000),
    });
    const body = (await response.text().catch(() => "")).slice(0, 200).replace(/\s+/g, " ").trim();
    if (!response.ok) return { ok: false, status: response.status, error: `${where} answered HTTP ${response.status}${body ? `: ${body.split(url).join("[webhook]")}` : ""}` };
    return { ok: true, status: response.status };
  } catch (error) {
    const e = error as Error & { cause?: { code?: string } };
    const why = e.name === "TimeoutError" ? "no answer in time" : (e.cause?.code ?? e.message);
    return { ok: false, error: `${where} could not be reached: ${String(why).split(url).join("[webhook]")}` };
  }
}
