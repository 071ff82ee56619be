import type { Metadata } from 'next'
import { type ReactNode, Suspense } from 'react'
import { Header } from '../features/layout/components/header'
import { Providers } from './providers'
import './globals.css'

export const metadata: Metadata = {
  title: 'Hindsight',
  description: 'LLM observability: cost, latency, errors and traces',
}

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <Providers>
          <Suspense fallback={<header className="header" />}>
            <Header />
          </Suspense>
          <main className="main">{children}</main>
        </Providers>
      </body>
    </html>
  )
}
