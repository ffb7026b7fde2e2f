// Names shared by the server guard and the page (no imports: safe in a client bundle).
/** The header fetches carry the panel token in. */
export const TOKEN_HEADER = "x-deckhand-token";
/** The field a server action's input carries the panel token in (removed before validation). */
export const ACTION_TOKEN_FIELD = "__deckhandToken";
/** The <meta name> the root layout renders the token into. */
export const TOKEN_META = "deckhand-token";
