/**
 * The one rule for going ahead past the pre-deploy checklist, shared by the server (which enforces it)
 * and the form (which only mirrors it): an item that is not ok and needs a reason blocks the deploy
 * unless the operator typed why they go ahead anyway.
 */
export const MIN_GO_AHEAD_REASON_LENGTH = 3;

export interface ChecklistItem {
  name: string;
  ok: boolean;
  detail: string;
  /** Whether going ahead past this item needs a typed reason (the others are shown as notes). */
  needsReason: boolean;
}

export function itemsNeedingReason(items: readonly ChecklistItem[]): ChecklistItem[] {
  return items.filter((item) => !item.ok && item.needsReason);
}

export function mayGoAhead(items: readonly ChecklistItem[], reason: string | undefined): boolean {
  return itemsNeedingReason(items).length === 0 || (reason ?? "").trim().length >= MIN_GO_AHEAD_REASON_LENGTH;
}
