/** @type {import('next').NextConfig} */
const nextConfig = {
  // The sandbox's host stand-ins and the generated Prisma client are read at run time from the repo.
  serverExternalPackages: ["fauxqs"],
  devIndicators: false,
  // The confirm buttons must never be framed by another page (clickjacking).
  async headers() {
    return [
      {
        source: "/:path*",
        headers: [
          { key: "X-Frame-Options", value: "DENY" },
          { key: "Content-Security-Policy", value: "frame-ancestors 'none'" },
          { key: "X-Content-Type-Options", value: "nosniff" },
          { key: "Referrer-Policy", value: "no-referrer" },
        ],
      },
    ];
  },
};

export default nextConfig;
