import { Suspense } from 'react'
import { Loading } from '../../components/states'
import { AnnotatePage } from '../../features/annotation/components/annotate-page'

export default function Page() {
  return (
    <Suspense fallback={<Loading />}>
      <AnnotatePage />
    </Suspense>
  )
}
