import { Suspense } from 'react'
import { Loading } from '../../../components/states'
import { TracePage } from '../../../features/traces/components/trace-page'

export default async function Page({ params }: { params: Promise<{ traceId: string }> }) {
  const { traceId } = await params
  return (
    <Suspense fallback={<Loading />}>
      <TracePage traceId={traceId} />
    </Suspense>
  )
}
