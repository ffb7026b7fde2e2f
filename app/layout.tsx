import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { panelToken } from "@/lib/panel/guard";
import { TOKEN_META } from "@/lib/panel/names";
import { ActiveDeployBanner } from "@/components/active-banner";
import { Providers } from "@/components/providers";
import "./globals.css";

export const metadata: Metadata = {
  title: { default: "Dashboard · Deckhand", template: "%s · Deckhand" },
  description: "Ship code to EC2 the tarball → S3 → SSM way",
};

const navLink = "rounded px-1 text-sm text-slate-700 hover:text-slate-900 hover:underline";

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Rendered per request: the token is made at launch, never baked into a build.
  await connection();
  return (
    <html lang="en">
      <head>
        <meta name={TOKEN_META} content={panelToken()} />
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900">
        <a href="#main" className="skip-link rounded-md bg-sky-800 px-3 py-2 text-sm font-semibold text-white shadow">
          Skip to main content
        </a>
        <Providers>
          <header className="border-b border-slate-200 bg-white">
            <nav aria-label="Main" className="mx-auto flex max-w-7xl flex-wrap items-center gap-x-6 gap-y-1 px-4 py-3 sm:px-6">
              <Link href="/" className="text-lg font-semibold tracking-tight">
                <span aria-hidden="true">⚓</span> Deckhand
              </Link>
              <Link href="/" className={navLink}>
                Dashboard
              </Link>
              <Link href="/bundles" className={navLink}>
                Bundles
              </Link>
              <Link href="/history" className={navLink}>
                History
              </Link>
              <Link href="/setup" className={navLink}>
                Setup
              </Link>
            </nav>
          </header>
          <ActiveDeployBanner />
          <main id="main" tabIndex={-1} className="mx-auto max-w-7xl px-3 py-6 outline-none sm:px-6">
            {children}
          </main>
        </Providers>
      </body>
    </html>
  );
}
