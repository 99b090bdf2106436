// Server side: the root layout (dark theme for every page). AuthProvider adds Clerk's provider
// and sign-in in Clerk mode only (app/lib/auth-client.ts).
import type { Metadata, Viewport } from 'next';
import type { ReactNode } from 'react';
import { AuthProvider } from './lib/AuthProvider';
import './globals.css';

export const metadata: Metadata = {
  title: 'Splatsync',
  description: 'Collaborative annotation of dynamic semantic 3D Gaussian scenes',
};

export const viewport: Viewport = {
  colorScheme: 'dark',
  themeColor: '#0e0f12',
};

export default function RootLayout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <body>
        <AuthProvider>{children}</AuthProvider>
      </body>
    </html>
  );
}
