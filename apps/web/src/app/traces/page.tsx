import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { TraceListPage } from '../../features/traces/components/trace-list-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <TraceListPage />
    </Suspense>
  )
}
