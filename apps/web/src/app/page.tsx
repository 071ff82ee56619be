import { Suspense } from 'react'
import { Loading } from '../components/states'
import { OverviewPage } from '../features/overview/components/overview-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <OverviewPage />
    </Suspense>
  )
}
