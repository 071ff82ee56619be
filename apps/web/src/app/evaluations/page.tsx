import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { EvaluationsPage } from '../../features/evaluations/components/evaluations-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <EvaluationsPage />
    </Suspense>
  )
}
