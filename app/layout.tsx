import type { Metadata } from "next";
import Link from "next/link";
import { connection } from "next/server";
import { panelToken } from "@/lib/panel/guard";
import { TOKEN_META } from "@/lib/panel/names";
import { Providers } from "@/components/providers";
import "./globals.css";

export const metadata: Metadata = { title: "Deckhand", description: "Ship code to EC2 the tarball → S3 → SSM way" };

export default async function RootLayout({ children }: { children: React.ReactNode }) {
  // Rendered per request: the token is made at launch, never baked into a build.
  await connection();
  return (
    <html lang="en">
      <head>
        <meta name={TOKEN_META} content={panelToken()} />
      </head>
      <body className="min-h-screen bg-slate-50 text-slate-900">
        <header className="border-b border-slate-200 bg-white">
          <nav className="mx-auto flex max-w-7xl items-center gap-6 px-6 py-3">
            <Link href="/" className="text-lg font-semibold tracking-tight">
              ⚓ Deckhand
            </Link>
            <Link href="/" className="text-sm text-slate-600 hover:text-slate-900">
              Dashboard
            </Link>
            <Link href="/bundles" className="text-sm text-slate-600 hover:text-slate-900">
              Bundles
            </Link>
            <Link href="/history" className="text-sm text-slate-600 hover:text-slate-900">
              History
            </Link>
          </nav>
        </header>
        <main className="mx-auto max-w-7xl px-6 py-6">
          <Providers>{children}</Providers>
        </main>
      </body>
    </html>
  );
}
