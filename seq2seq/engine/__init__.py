"""Archives on a distributed engine (`seq2seq-predict --engine dask`): the options (`config`), the
input cut into partitions (`partitions`), the work of one partition on a worker (`worker`), the
driver that runs them on a Dask cluster and resumes (`runner`) and the merge of their outputs (`merge`)."""
