"""Grid search over a scratchgrad network on a Dask cluster, through joblib.

GridSearchCV hands its fits to joblib; inside `joblib.parallel_config(backend="dask")` every fit
becomes a task for the cluster's workers. The cluster here is a LocalCluster on this machine; to
grow the same search to many machines, start `dask scheduler` and `dask worker` processes there and
connect with Client("tcp://scheduler:8786") instead: the search code does not change.

Workers are separate processes by default. With processes=False the workers are threads of this
process; keep one thread then, since scratchgrad's grad mode and random generator are process-wide.

    python examples/grid_search_dask.py
"""
import joblib
from distributed import Client, LocalCluster
from sklearn.datasets import load_digits
from sklearn.model_selection import GridSearchCV
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from scratchgrad.sklearn import NeuralNetClassifier

GRID = {
    "neuralnetclassifier__hidden_layer_sizes": [(32,), (64, 32)],
    "neuralnetclassifier__learning_rate": [0.001, 0.01],
}


def main(n_workers=2, threads_per_worker=1, processes=True, epochs=20, cv=3):
    """Search GRID on the digits with `cv`-fold cross-validation on a LocalCluster of this size."""
    X, y = load_digits(return_X_y=True)
    model = make_pipeline(StandardScaler(), NeuralNetClassifier(epochs=epochs, random_state=0))
    search = GridSearchCV(model, GRID, cv=cv, n_jobs=-1)
    with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=processes,
                      dashboard_address=None) as cluster, Client(cluster):
        with joblib.parallel_config(backend="dask"):
            search.fit(X, y)
    print(f"best parameters: {search.best_params_}")
    print(f"best cross-validated accuracy: {search.best_score_:.3f}")
    return search


if __name__ == "__main__":
    main()
